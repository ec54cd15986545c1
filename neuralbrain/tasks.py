"""The registry of offline tasks (train a model on a dataset, evaluate a checkpoint).

A task TOML names its type (``task = "lsm_nmnist"``); a trainable module names the task
config that trains it. Another package adds a task through an entry point::

    [project.entry-points."neuralbrain.tasks"]
    my_task = "my_package.task:MyTask"
"""

from __future__ import annotations

from neuralbrain.core import Task
from neuralbrain.registry import Registry

TASKS: Registry[type[Task]] = Registry("task", group="neuralbrain.tasks")

TASKS.register("lsm_nmnist", "neuralbrain.memory.lsm_tasks:LsmNmnist")
TASKS.register("lsm_fsdd", "neuralbrain.memory.lsm_tasks:LsmFsdd")
TASKS.register("lsm_zeroshot", "neuralbrain.memory.lsm_tasks:LsmZeroShot")
TASKS.register("insensor_nmnist", "neuralbrain.sensing.snn.task:InsensorNMNIST")
