"""Chinese NLU helpers and Rasa components for the community-services assistant.

``numbers``, ``id_card`` and ``number_entities`` are pure Python and shared with
the action server and the voice gateway; ``extractors`` and
``pinyin_featurizer`` are Rasa 3.6 graph components for config.yml.
"""
