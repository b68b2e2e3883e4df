"""Settings for every test and notebook pytest runs (notebook kernels inherit this environment).

Static figures instead of widgets in the notebooks nbval runs: nobody moves sliders there.
TensorFlow's own settings come from helpers/backend.py, which every module that needs
TensorFlow goes through.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("CAPTCHA_WIDGETS", "0")

# Tests never read or fill the user's own cache of pretrained readers (helpers.pretrained):
# each pytest run gets a fresh, empty one, removed when it ends.
_CACHE = tempfile.mkdtemp(prefix="captcha-lab-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["CAPTCHA_LAB_CACHE"] = _CACHE
