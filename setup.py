"""Build steps pyproject.toml cannot state: the folders ``envs/`` and ``agents/`` install as
``neuralbrain_envs`` and ``neuralbrain_agents``, and ``neuralbrain-gymnasium.pth`` goes to
the root of ``site-packages`` (see ``neuralbrain.plugins``), in editable installs too."""

import os

from setuptools import Command, find_packages, setup
from setuptools.command.build import build

PTH = "neuralbrain-gymnasium.pth"


class build_pth(Command):
    """Copy ``PTH`` to the wheel's root (editable installs: straight into the unpacked wheel)."""

    description = "put the Gymnasium registration hook at the root of site-packages"
    user_options = []

    def initialize_options(self):
        self.build_lib = None
        self.editable_mode = False

    def finalize_options(self):
        self.set_undefined_options("build", ("build_lib", "build_lib"))

    def run(self):
        if self.editable_mode:  # editable_wheel points `install` at the unpacked wheel
            root = self.get_finalized_command("install").install_lib
        else:
            root = self.build_lib
        self.copy_file(PTH, os.path.join(root, PTH))

    def get_outputs(self):
        return [] if self.editable_mode else [os.path.join(self.build_lib, PTH)]


build.sub_commands.append(("build_pth", None))

setup(
    packages=[*find_packages(include=["neuralbrain", "neuralbrain.*"]),
              "neuralbrain_envs", "neuralbrain_agents"],
    package_dir={"neuralbrain_envs": "envs", "neuralbrain_agents": "agents"},
    cmdclass={"build_pth": build_pth},
)
