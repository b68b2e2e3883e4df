"""Settings for every test and notebook pytest runs (notebook kernels inherit this environment).

Static figures instead of widgets in the notebooks nbval runs: nobody moves sliders there.
TensorFlow's own settings come from helpers/backend.py, which every module that needs
TensorFlow goes through.
"""

import os

os.environ.setdefault("CAPTCHA_WIDGETS", "0")
