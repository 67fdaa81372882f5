"""`QuestionRouter`: the last NLU component. A message the classifier sent into a flow but
that is phrased as a question about it is handled as a statement question instead (see
`rasa_server.routing` for the rules and why); the flow it would have started is kept in the
parse data as `routed_from`, so that the answer can offer it. What the form of every message
says for its answer (the request type it names, whether it asks about a right of one's own)
is put there too, as `question_form` (`rasa_server.routing.question_form`), so that the
action server does not analyse the text again."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_server.routing import QUESTION_FORM, question_form, route, route_slack

ROUTED_FROM = "routed_from"
METADATA = "metadata"


def from_slack(message: Message) -> bool:
    """Whether the Slack channel sent the message (it adds `slack` to the metadata). The
    routing for Slack grants nothing: the queue action checks the input channel itself."""
    metadata = message.get(METADATA) or {}
    return isinstance(metadata, dict) and isinstance(metadata.get("slack"), dict)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class QuestionRouter(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> QuestionRouter:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            name, text = intent.get("name"), message.get(TEXT) or ""
            if not name or not text:
                continue
            message.set(QUESTION_FORM, question_form(text), add_to_output=True)
            routed = route(name, text)
            if from_slack(message):
                routed = route_slack(routed or name, text) or routed
            if routed is None or routed == name:
                continue
            confidence = intent.get("confidence", 1.0)
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r["name"] != routed]
            message.set(INTENT, {"name": routed, "confidence": confidence}, add_to_output=True)
            message.set(INTENT_RANKING_KEY,
                        [{"name": routed, "confidence": confidence}, *ranking],
                        add_to_output=True)
            message.set(ROUTED_FROM, {"name": name, "confidence": confidence},
                        add_to_output=True)
        return messages
