"""A small MuJoCo env the catalog has never seen, registered from its own XML string (used by tests)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.envs.mujoco import MujocoEnv

XML = """
<mujoco model="test_arm">
  <option timestep="0.01"/>
  <worldbody>
    <geom name="ground" type="plane" size="2 2 0.1"/>
    <body name="cart" pos="0 0 0.1">
      <joint name="slider" type="slide" axis="1 0 0"/>
      <geom name="cart_geom" type="box" size="0.1 0.1 0.05" mass="1"/>
      <body name="upper_arm" pos="0 0 0.05">
        <joint name="shoulder" type="hinge" axis="0 1 0"/>
        <geom name="upper_geom" type="capsule" fromto="0 0 0 0 0 0.3" size="0.02"/>
        <body name="hand" pos="0 0 0.3">
          <joint name="elbow" type="hinge" axis="0 1 0"/>
          <geom name="hand_geom" type="capsule" fromto="0 0 0 0 0 0.2" size="0.02"/>
          <site name="tip" pos="0 0 0.2"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="push" joint="slider" gear="20" ctrlrange="-1 1"/>
    <motor joint="shoulder" gear="5" ctrlrange="-1 1"/>
    <motor joint="elbow" gear="5" ctrlrange="-1 1"/>
  </actuator>
</mujoco>
"""


class CustomArmEnv(MujocoEnv):
    metadata = {"render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"]}  # noqa: RUF012

    def __init__(self, **kwargs: object) -> None:
        path = Path(tempfile.mkdtemp()) / "test_arm.xml"
        path.write_text(XML)
        obs_space = gym.spaces.Box(-np.inf, np.inf, shape=(6,), dtype=np.float64)
        super().__init__(str(path), 2, observation_space=obs_space, **kwargs)
        self.metadata["render_fps"] = int(np.round(1.0 / self.dt))

    def step(self, action: np.ndarray):
        self.do_simulation(action, self.frame_skip)
        return self._get_obs(), 0.0, False, False, {}

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel]).astype(np.float64)

    def reset_model(self) -> np.ndarray:
        noise = self.np_random.uniform(-0.05, 0.05, size=self.model.nq)
        self.set_state(self.init_qpos + noise, self.init_qvel)
        return self._get_obs()


if "CustomArm-v0" not in gym.registry:
    gym.register("CustomArm-v0", entry_point=CustomArmEnv, max_episode_steps=100)
