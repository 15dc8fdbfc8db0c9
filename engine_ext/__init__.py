"""Extensions the Rasa server loads by name from endpoints.yml (engine env, Python 3.10).

Kept out of ``nlu/`` on purpose: ``nlu/`` is part of the model's hash
(`scripts.model_cache`), and how conversations are stored has nothing to do with training.
"""
