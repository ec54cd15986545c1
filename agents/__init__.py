"""The repository's agents: TOML files in ``configs/`` (agents and the tasks that train them),
and the few modules and tasks only one of them needs (``insensor_picker``, ``snn_cartpole``).

Installed as ``neuralbrain_agents``. ``CONFIGS`` is this package's ``neuralbrain.agents``
entry point, so an installed neuralbrain finds these configs by name
(``neuralbrain run neural_brain``); its modules and tasks plug in through the
``neuralbrain.modules`` and ``neuralbrain.tasks`` entry points, as another package's would.
"""

from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "configs"
