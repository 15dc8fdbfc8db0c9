"""Tests for the ID / phone entity extractors on real Rasa messages."""

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from nlu.extractors import IdNumberExtractor, PhoneNumberExtractor
from nlu.number_entities import find_number_entities


def make(cls, tmp_path):
    return cls.create(
        {**cls.get_default_config()},
        LocalModelStorage(tmp_path),
        Resource(cls.__name__),
        ExecutionContext(GraphSchema({}), node_name=cls.__name__),
    )


@pytest.fixture
def extractors(tmp_path):
    return [make(IdNumberExtractor, tmp_path), make(PhoneNumberExtractor, tmp_path)]


def parse(extractors, text, entities=None):
    data = {"text": text}
    if entities is not None:
        data["entities"] = entities
    message = Message(data=data)
    for extractor in extractors:
        extractor.process([message])
    return message.get("entities")


def spans(entities):
    return [(e["entity"], e["start"], e["end"], e["value"]) for e in entities]


def test_valid_id_number(extractors):
    text = "我的身份证号是110105194910010031"
    entities = parse(extractors, text)
    assert entities == [
        {
            "entity": "id_number",
            "start": 7,
            "end": 25,
            "value": "110105194910010031",
            "extractor": "IdNumberExtractor",
            "confidence": 1.0,
            "confidence_entity": 1.0,
        }
    ]


def test_spoken_id_number_with_filler(extractors):
    text = "我的身份证号是幺幺零幺零五 嗯 一九四九一零零一零零三幺"
    entities = parse(extractors, text)
    assert spans(entities) == [("id_number", 7, len(text), "110105194910010031")]
    assert text[7:] == "幺幺零幺零五 嗯 一九四九一零零一零零三幺"


def test_spoken_id_number_with_x(extractors):
    text = "五幺零幺零七一九四五零二零八零零二叉"
    assert spans(parse(extractors, text)) == [("id_number", 0, len(text), "51010719450208002X")]


@pytest.mark.parametrize(
    "text, digits, problem",
    [
        ("身份证110105194910010032", "110105194910010032", "checksum"),
        ("身份证11010519491001003", "11010519491001003", "length"),
        ("身份证1101051949100100311", "1101051949100100311", "length"),
        ("身份证110105194902310031", "110105194902310031", "birth_date"),
        ("身份证幺幺零幺零五一九四九一零零一零零三二", "110105194910010032", "checksum"),
    ],
)
def test_invalid_id_number_is_reported_not_dropped(extractors, text, digits, problem):
    entities = parse(extractors, text)
    assert len(entities) == 1
    entity = entities[0]
    assert entity["entity"] == "id_number_invalid"
    assert entity["value"] == digits
    assert entity["problem"] == problem
    assert (entity["start"], entity["end"]) == (3, len(text))
    assert entity["extractor"] == "IdNumberExtractor"


def test_phone_number(extractors):
    text = "电话是一三八 一二三四 五六七八"
    assert spans(parse(extractors, text)) == [("phone_number", 3, len(text), "13812345678")]
    assert parse(extractors, "13812345678")[0]["extractor"] == "PhoneNumberExtractor"


@pytest.mark.parametrize("text", ["12812345678", "1381234567", "023-12345678"])
def test_not_a_mobile_number(extractors, text):
    assert parse(extractors, text) == []


def test_id_and_phone_in_one_sentence(extractors):
    text = "身份证110105194910010031，手机一三八一二三四五六七八"
    assert sorted(spans(parse(extractors, text))) == [
        ("id_number", 3, 21, "110105194910010031"),
        ("phone_number", 24, 35, "13812345678"),
    ]


def test_id_and_phone_separated_only_by_a_pause(extractors):
    text = "110105194910010031，13812345678"
    assert sorted(spans(parse(extractors, text))) == [
        ("id_number", 0, 18, "110105194910010031"),
        ("phone_number", 19, 30, "13812345678"),
    ]


def test_wrong_id_and_phone_separated_only_by_a_pause(extractors):
    text = "幺幺零幺零五 一九四九一零零一零零三二 一三八一二三四五六七八"
    entities = parse(extractors, text)
    assert [(e["entity"], e["value"], e.get("problem")) for e in entities] == [
        ("id_number_invalid", "110105194910010032", "checksum"),
        ("phone_number", "13812345678", None),
    ]
    assert text[entities[1]["start"] : entities[1]["end"]] == "一三八一二三四五六七八"


def test_no_phone_number_inside_an_id_length_run(extractors):
    # 18 digits that start like a phone number: an ID attempt, never a phone
    text = "13812345678 1234567"
    entities = parse(extractors, text)
    assert [e["entity"] for e in entities] == ["id_number_invalid"]
    phone_only = parse(extractors[1:], text)
    assert phone_only == []


def test_existing_entities_are_kept(extractors):
    diet = {
        "entity": "service",
        "start": 0,
        "end": 2,
        "value": "社保",
        "extractor": "DIETClassifier",
    }
    entities = parse(extractors, "社保 110105194910010031", entities=[dict(diet)])
    assert entities[0] == diet
    assert spans(entities[1:]) == [("id_number", 3, 21, "110105194910010031")]


def test_same_span_from_another_extractor_is_not_duplicated(extractors):
    text = "身份证幺幺零幺零五一九四九一零零一零零三幺"
    diet = {
        "entity": "id_number",
        "start": 3,
        "end": len(text),
        "value": text[3:],
        "extractor": "DIETClassifier",
    }
    entities = parse(extractors, text, entities=[diet])
    assert len(entities) == 1
    assert entities[0]["extractor"] == "DIETClassifier"
    assert entities[0]["value"] == "110105194910010031"  # normalised in place
    assert entities[0]["processors"] == ["IdNumberExtractor"]


def test_processing_twice_does_not_duplicate(extractors):
    message = Message(data={"text": "13812345678"})
    for _ in range(2):
        for extractor in extractors:
            extractor.process([message])
    assert len(message.get("entities")) == 1


def test_message_without_text_is_left_alone(extractors):
    message = Message(data={"intent": "greet"})
    for extractor in extractors:
        extractor.process([message])
    assert message.get("entities") is None


def test_extractors_only_add_their_own_types(tmp_path):
    text = "身份证110105194910010031，手机13812345678"
    ids = parse([make(IdNumberExtractor, tmp_path)], text)
    phones = parse([make(PhoneNumberExtractor, tmp_path)], text)
    assert [e["entity"] for e in ids] == ["id_number"]
    assert [e["entity"] for e in phones] == ["phone_number"]
    assert len(find_number_entities(text)) == 2


@pytest.mark.parametrize("cls", [IdNumberExtractor, PhoneNumberExtractor])
def test_registered_with_rasa_by_module_path(cls):
    registered = DefaultV1Recipe._from_registry(f"nlu.extractors.{cls.__name__}")
    assert registered.clazz is cls
    assert DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR in registered.types
    assert registered.is_trainable is False
