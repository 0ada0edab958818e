from ai_features.registry import Capability


class PredictionCapability(Capability):
    key = "prediction"
    title = "Prediction"
    description = "Predicts churn risk and what each customer needs next, with the reasons shown."
    lesson = "prediction-basics"
