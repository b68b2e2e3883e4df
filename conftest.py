"""Quiet, repeatable TensorFlow for every test and notebook (set before anything imports it), and static
figures instead of widgets in the notebooks nbval runs (their kernels inherit this environment)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("CAPTCHA_WIDGETS", "0")
