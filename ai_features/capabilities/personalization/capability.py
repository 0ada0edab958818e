from ai_features.registry import Capability


class PersonalizationCapability(Capability):
    key = "personalization"
    title = "Personalization"
    description = "Tailors campaigns and replies to each customer's own history."
    lesson = "personalization-basics"
