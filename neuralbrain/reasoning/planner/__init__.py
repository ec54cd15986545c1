"""LLM planner: a llama GGUF (SmolLM2-135M by default) run on a neuralbrain backend.

``gguf_model`` reads the file, ``tokenizer`` rebuilds its byte-level BPE, ``llama`` is the
forward pass (every product on the backend), ``scene`` parses and checks facts and says them
in words, ``planner`` reads a request into a goal (scored or constrained decoding),
``commands`` the ``neuralbrain plan`` CLI. Heavy imports stay in the submodules.
"""
