"""Helpers for the Learning Captchas course.

Each module holds one concept of the course, named for what it holds:
``captchas`` (make and load captcha sets), ``segmentation`` (cut letters),
``datasets`` (splits and letter arrays), ``models`` (Keras builders),
``ctc`` (the whole-captcha reader), ``variety`` (an endless stream of captchas
in many styles) and ``transfer`` (pretraining on it, fine-tuning on few labels),
``pretrained`` (the pretrained reader ``captcha-lab train`` starts from, kept in the
user's cache), ``selftraining`` (unlabelled captchas as pseudo-labels),
``plots`` (figures for the notebooks) and ``cli`` (the ``captcha-lab`` command).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("learning-captchas")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
