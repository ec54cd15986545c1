"""Control: inverse kinematics (``ik``, needs pybullet) and pick/place skills (``skills``,
pure numpy). Import the submodules directly; this package imports nothing heavy."""
