"""Sparse pinyin features that make intent recognition robust to homophones.

The kiosk's offline recogniser often picks the wrong characters for the right
sound: 任正 for 认证, 设保 for 社保, 一宝 for 医保.  Character and word
features treat those as unrelated, but their toneless pinyin is identical.
This featurizer converts each token to toneless pinyin syllables (pypinyin's
``lazy_pinyin``) and counts syllables and syllable bigrams -- within a token
and across adjacent tokens, because jieba may split a mis-recognised word
(任 + 正) where it keeps the real one whole (认证).  The vocabulary is learned
from the training data, like ``CountVectorsFeaturizer``, and unknown features
at inference are ignored.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from pathlib import Path
from typing import Any

import numpy as np
import rasa.shared.utils.io
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import FileIOException, InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu import pinyin
from nlu.pinyin import token_syllables

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "pinyin_vocabulary.json"
_BIGRAM_SEPARATOR = " "  # cannot occur inside a syllable (they are letters)


def bigram(first: str, second: str) -> str:
    """Feature name for two consecutive syllables."""
    return f"{first}{_BIGRAM_SEPARATOR}{second}"


def token_feature_names(tokens: list[str], cross_token_bigrams: bool = True) -> list[list[str]]:
    """Feature names for each token: its syllables and syllable bigrams.

    The bigram that spans a token boundary is attributed to the later token,
    so the sentence-level sum is the same however jieba split the sound
    sequence (任|正 and 认证 both give ren, zheng, "ren zheng").
    """
    per_token: list[list[str]] = []
    previous_last: str | None = None
    for text in tokens:
        syllables = token_syllables(text)
        names: list[str] = list(syllables)
        names.extend(bigram(a, b) for a, b in itertools.pairwise(syllables))
        if syllables:
            if cross_token_bigrams and previous_last is not None:
                names.append(bigram(previous_last, syllables[0]))
            previous_last = syllables[-1]
        per_token.append(names)
    return per_token


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class PinyinFeaturizer(SparseFeaturizer, GraphComponent):
    """Adds pinyin syllable (+bigram) count features to the TEXT attribute.

    One sparse row per token (sequence features) and their sum (sentence
    feature), exactly the shapes ``CountVectorsFeaturizer`` produces, so DIET
    can combine them with the other featurizers' features.
    """

    @classmethod
    def required_components(cls) -> list[type]:
        """Needs tokens: features are per token."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        """pypinyin does the character-to-sound conversion."""
        return ["pypinyin"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Fingerprint this whole module, not just the class body.

        Rasa's training cache keys a node on the class source, config, inputs
        and package versions.  The feature logic lives in module-level helpers
        (``token_syllables``, ``token_feature_names``), so without this a change
        there would silently reuse a stale vocabulary from ``.rasa/cache``.
        """
        digest = hashlib.sha256(Path(__file__).read_bytes())
        digest.update(Path(pinyin.__file__).read_bytes())
        return digest.hexdigest()

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Returns the component's default config."""
        return {
            **SparseFeaturizer.get_default_config(),
            # count syllable bigrams inside tokens (ren zheng in 认证)
            "use_bigrams": True,
            # also count the bigram across adjacent tokens (任|正)
            "cross_token_bigrams": True,
            # features seen fewer times in training are not in the vocabulary
            "min_count": 1,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        vocabulary: dict[str, int] | None = None,
    ) -> None:
        """Creates the featurizer, optionally with an already learned vocabulary."""
        config = {**self.get_default_config(), **config}
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._finetune_mode = execution_context.is_finetuning
        self.vocabulary: dict[str, int] = vocabulary or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PinyinFeaturizer:
        """Creates a new untrained component (see parent class for full docstring)."""
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Fails at config-load time rather than silently learning nothing."""
        if int(config.get("min_count", 1)) < 1:
            raise InvalidConfigException("PinyinFeaturizer: min_count must be >= 1")

    # ------------------------------------------------------------------ helpers

    def _feature_names(self, tokens: list[Token]) -> list[list[str]]:
        names = token_feature_names(
            [token.text for token in tokens],
            cross_token_bigrams=self._config["cross_token_bigrams"],
        )
        if not self._config["use_bigrams"]:
            names = [[n for n in row if _BIGRAM_SEPARATOR not in n] for row in names]
        return names

    @staticmethod
    def _text_tokens(message: Message) -> list[Token]:
        return message.get(TOKENS_NAMES[TEXT]) or []

    # ------------------------------------------------------------------ training

    def train(self, training_data: TrainingData) -> Resource:
        """Learn the vocabulary of pinyin features from the training TEXT.

        When fine-tuning, the vocabulary is kept as it is: DIET's input layer
        was built for its size, and new syllables are simply ignored.
        """
        if self._finetune_mode and self.vocabulary:
            logger.debug(
                "Fine-tuning: keeping the %d-feature pinyin vocabulary", len(self.vocabulary)
            )
        else:
            counts: dict[str, int] = {}
            for message in training_data.training_examples:
                for row in self._feature_names(self._text_tokens(message)):
                    for name in row:
                        counts[name] = counts.get(name, 0) + 1
            kept = sorted(n for n, c in counts.items() if c >= self._config["min_count"])
            self.vocabulary = {name: index for index, name in enumerate(kept)}
            logger.debug("Learned %d pinyin features", len(self.vocabulary))
            if not self.vocabulary:
                rasa.shared.utils.io.raise_warning(
                    "PinyinFeaturizer found no pinyin in the training data; "
                    "it will not add any features."
                )
        self.persist()
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes the training examples in place."""
        self.process(training_data.training_examples)
        return training_data

    # ------------------------------------------------------------------ inference

    def _features_for(
        self, tokens: list[Token]
    ) -> tuple[scipy.sparse.coo_matrix, scipy.sparse.coo_matrix]:
        """Sequence (tokens x vocab) and sentence (1 x vocab) count matrices."""
        rows: list[int] = []
        cols: list[int] = []
        for row, names in enumerate(self._feature_names(tokens)):
            for name in names:
                index = self.vocabulary.get(name)
                if index is not None:  # unknown syllables are ignored
                    rows.append(row)
                    cols.append(index)
        data = np.ones(len(rows), dtype=np.float32)
        shape = (len(tokens), len(self.vocabulary))
        sequence = scipy.sparse.coo_matrix((data, (rows, cols)), shape=shape)
        sequence.sum_duplicates()
        sentence = scipy.sparse.coo_matrix(sequence.sum(axis=0, dtype=np.float32))
        return sequence, sentence

    def process(self, messages: list[Message]) -> list[Message]:
        """Adds pinyin sequence and sentence features to each message's TEXT.

        Messages without TEXT tokens (intent/action-only messages from Core)
        are skipped, as are all messages if nothing was learned.
        """
        if not self.vocabulary:
            return messages
        for message in messages:
            tokens = self._text_tokens(message)
            if not tokens:
                continue
            sequence, sentence = self._features_for(tokens)
            self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    # ------------------------------------------------------------------ storage

    def persist(self) -> None:
        """Stores the vocabulary as JSON in this component's resource."""
        if not self.vocabulary:
            return
        with self._model_storage.write_to(self._resource) as model_dir:
            rasa.shared.utils.io.dump_obj_as_json_to_file(
                model_dir / VOCABULARY_FILE, self.vocabulary
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PinyinFeaturizer:
        """Loads the vocabulary saved by :meth:`persist`.

        If there is none (nothing was learned), an empty featurizer is
        returned, matching what training produced.
        """
        try:
            with model_storage.read_from(resource) as model_dir:
                vocabulary = rasa.shared.utils.io.read_json_file(model_dir / VOCABULARY_FILE)
        except (ValueError, FileNotFoundError, FileIOException):
            logger.debug(
                "No pinyin vocabulary in resource '%s'; loading an empty featurizer.",
                resource.name,
            )
            vocabulary = None
        return cls(config, model_storage, resource, execution_context, vocabulary)
