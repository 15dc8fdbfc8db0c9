"""Tests for nlu.pinyin_featurizer with a real JiebaTokenizer and model storage."""

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.pinyin_featurizer import PinyinFeaturizer, token_feature_names, token_syllables

DICT_DIR = Path(__file__).resolve().parents[3] / "nlu" / "dict"
NODE_NAME = "pinyin_featurizer"

TRAINING = [
    ("我要做养老金资格认证", "qualification_certification"),
    ("怎么做认证", "qualification_certification"),
    ("社保卡丢了", "social_security_card"),
    ("医保报销要什么材料", "medical_insurance"),
    ("你好", "greet"),
    ("我的身份证号是110105194910010031", "provide_id_number"),
]


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


@pytest.fixture
def tokenizer(storage):
    config = {**JiebaTokenizer.get_default_config(), "dictionary_path": str(DICT_DIR)}
    return JiebaTokenizer.create(
        config, storage, Resource("jieba"), ExecutionContext(GraphSchema({}))
    )


def context(finetuning=False):
    return ExecutionContext(GraphSchema({}), node_name=NODE_NAME, is_finetuning=finetuning)


@pytest.fixture
def trained(storage, tokenizer):
    data = TrainingData([Message(data={TEXT: text, "intent": intent}) for text, intent in TRAINING])
    tokenizer.process_training_data(data)
    featurizer = PinyinFeaturizer.create(
        PinyinFeaturizer.get_default_config(), storage, Resource(NODE_NAME), context()
    )
    featurizer.train(data)
    featurizer.process_training_data(data)
    return featurizer, data


def featurize(featurizer, tokenizer, text):
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    featurizer.process([message])
    return message


def pinyin_features(message):
    seq, sent = message.get_sparse_features(TEXT, featurizers=[NODE_NAME])
    return seq.features.toarray(), sent.features.toarray()


def test_token_syllables():
    assert token_syllables("认证") == ("ren", "zheng")
    assert token_syllables("任正") == ("ren", "zheng")
    assert token_syllables("设保") == token_syllables("社保") == ("she", "bao")
    assert token_syllables("一宝") == token_syllables("医保") == ("yi", "bao")
    assert token_syllables("WiFi") == ("wifi",)
    assert token_syllables("2024年") == ("nian",)  # digits are the extractors' job
    assert token_syllables("51010719450208002X") == ("x",)
    assert token_syllables("，") == ()


def test_cross_token_bigram_goes_to_the_later_token():
    assert token_feature_names(["任", "正"]) == [["ren"], ["zheng", "ren zheng"]]
    assert token_feature_names(["认证"]) == [["ren", "zheng", "ren zheng"]]


def test_homophone_gets_the_same_sentence_features(trained, tokenizer):
    featurizer, _ = trained
    real = featurize(featurizer, tokenizer, "我要做认证")
    misheard = featurize(featurizer, tokenizer, "我要做任正")
    # jieba may split the two differently; the sound is the same
    _, real_sentence = pinyin_features(real)
    _, misheard_sentence = pinyin_features(misheard)
    assert real_sentence.sum() > 0
    np.testing.assert_array_equal(real_sentence, misheard_sentence)
    for feature in ("ren", "zheng", "ren zheng"):
        assert real_sentence[0, featurizer.vocabulary[feature]] >= 1
    # a different sound must not look the same
    _, other_sentence = pinyin_features(featurize(featurizer, tokenizer, "我要做社保"))
    assert not np.array_equal(real_sentence, other_sentence)


def test_homophone_split_differently_by_jieba_gets_the_same_sentence_features(trained, tokenizer):
    featurizer, _ = trained
    real = featurize(featurizer, tokenizer, "我要办社保卡")
    misheard = featurize(featurizer, tokenizer, "我要办设保卡")
    token_texts = [[t.text for t in m.get(TOKENS_NAMES[TEXT])] for m in (real, misheard)]
    # the point of cross-token bigrams: jieba cuts the mis-heard text elsewhere
    assert token_texts[0] != token_texts[1], token_texts
    _, real_sentence = pinyin_features(real)
    _, misheard_sentence = pinyin_features(misheard)
    assert real_sentence[0, featurizer.vocabulary["she bao"]] == 1
    np.testing.assert_array_equal(real_sentence, misheard_sentence)


def test_homophone_token_gets_the_same_sequence_row(trained, tokenizer):
    featurizer, _ = trained
    # 设保 / 社保 are both kept whole by jieba here, so rows line up one to one
    real = featurize(featurizer, tokenizer, "社保")
    misheard = featurize(featurizer, tokenizer, "设保")
    np.testing.assert_array_equal(pinyin_features(real)[0], pinyin_features(misheard)[0])
    assert pinyin_features(real)[0].sum() > 0


def test_feature_shapes_match_tokens_and_vocabulary(trained, tokenizer):
    featurizer, data = trained
    vocab_size = len(featurizer.vocabulary)
    assert vocab_size > 10
    for message in [*data.training_examples, featurize(featurizer, tokenizer, "我想问一下医保")]:
        tokens = message.get(TOKENS_NAMES[TEXT])
        sequence, sentence = pinyin_features(message)
        assert sequence.shape == (len(tokens), vocab_size)
        assert sentence.shape == (1, vocab_size)
        np.testing.assert_array_equal(sentence, sequence.sum(axis=0, keepdims=True))


def test_numbers_from_training_data_stay_out_of_the_vocabulary(trained):
    featurizer, _ = trained
    assert "shen fen" in featurizer.vocabulary
    assert not any(ch.isdigit() for name in featurizer.vocabulary for ch in name)


def test_features_carry_a_unique_origin(trained):
    _, data = trained
    features = [f for f in data.training_examples[0].features if f.origin == NODE_NAME]
    assert {f.type for f in features} == {"sequence", "sentence"}


def test_unknown_syllables_are_ignored(trained, tokenizer):
    featurizer, _ = trained
    message = featurize(featurizer, tokenizer, "彭湃")  # peng pai: not in training data
    sequence, sentence = pinyin_features(message)
    assert sequence.shape[0] == len(message.get(TOKENS_NAMES[TEXT]))
    assert sentence.sum() == 0


def test_message_without_tokens_gets_no_features(trained):
    featurizer, _ = trained
    message = Message(data={"intent": "greet"})
    featurizer.process([message])
    assert message.features == []


def test_persist_and_load_round_trip(trained, storage, tokenizer):
    featurizer, _ = trained
    loaded = PinyinFeaturizer.load(
        PinyinFeaturizer.get_default_config(), storage, Resource(NODE_NAME), context()
    )
    assert loaded.vocabulary == featurizer.vocabulary
    before = pinyin_features(featurize(featurizer, tokenizer, "一宝报销"))
    after = pinyin_features(featurize(loaded, tokenizer, "一宝报销"))
    for expected, actual in zip(before, after, strict=True):
        np.testing.assert_array_equal(expected, actual)


def test_load_without_persisted_vocabulary_is_empty(storage):
    loaded = PinyinFeaturizer.load(
        PinyinFeaturizer.get_default_config(), storage, Resource("missing"), context()
    )
    assert loaded.vocabulary == {}
    message = Message(data={TEXT: "你好"})
    loaded.process([message])
    assert message.features == []


def test_finetuning_keeps_the_vocabulary(trained, storage, tokenizer):
    featurizer, _ = trained
    loaded = PinyinFeaturizer.load(
        PinyinFeaturizer.get_default_config(),
        storage,
        Resource(NODE_NAME),
        context(finetuning=True),
    )
    new_data = TrainingData([Message(data={TEXT: "彭湃", "intent": "greet"})])
    tokenizer.process_training_data(new_data)
    loaded.train(new_data)
    assert loaded.vocabulary == featurizer.vocabulary


def test_bigrams_can_be_switched_off(storage, tokenizer):
    data = TrainingData([Message(data={TEXT: "认证", "intent": "a"})])
    tokenizer.process_training_data(data)
    config = {**PinyinFeaturizer.get_default_config(), "use_bigrams": False}
    featurizer = PinyinFeaturizer.create(config, storage, Resource("nobigram"), context())
    featurizer.train(data)
    assert set(featurizer.vocabulary) == {"ren", "zheng"}


def test_registered_with_rasa_by_module_path():
    registered = DefaultV1Recipe._from_registry("nlu.pinyin_featurizer.PinyinFeaturizer")
    assert registered.clazz is PinyinFeaturizer
    assert DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER in registered.types
    assert registered.is_trainable is True


def test_training_cache_key_covers_the_module_helpers():
    # Rasa only fingerprints the class source; the helpers must count too
    import hashlib

    import nlu.pinyin as helpers
    import nlu.pinyin_featurizer as module

    addon = PinyinFeaturizer.fingerprint_addon(PinyinFeaturizer.get_default_config())
    expected = hashlib.sha256(Path(module.__file__).read_bytes())
    expected.update(Path(helpers.__file__).read_bytes())
    assert addon == expected.hexdigest()


def test_invalid_min_count_is_a_config_error(storage):
    from rasa.shared.exceptions import InvalidConfigException

    config = {**PinyinFeaturizer.get_default_config(), "min_count": 0}
    with pytest.raises(InvalidConfigException):
        PinyinFeaturizer.create(config, storage, Resource("bad"), context())
