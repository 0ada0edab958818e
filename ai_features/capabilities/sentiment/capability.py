from ai_features.registry import Capability


class SentimentCapability(Capability):
    key = "sentiment"
    title = "Sentiment"
    description = "Reads the tone of every interaction and explains which words moved it."
    lesson = "sentiment-basics"
