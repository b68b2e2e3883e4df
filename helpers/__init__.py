"""Helpers for the Learning Captchas course: the small package the notebooks and ``captcha-lab`` import.

Each module holds one idea, named for what it holds; here in the order the
chapters meet them (``docs/architecture.md`` says which way imports go).

Chapter 1, data: ``captchas`` (draw captchas), ``captcha_files`` (save,
name and read folders of labelled captchas), ``segmentation`` (cut a
captcha into letters with OpenCV), ``datasets`` (the split by captcha, letter
arrays, class balance), ``files`` (writing a file whole or not at all),
``errors`` (the errors a user can fix, in one place), ``plots`` (the
notebooks' figures).

Chapters 2 and 3, letter classifiers: ``models`` (the random forest and the
Keras CNNs, seeding), ``training`` (the chapters' training recipes, and
``train_reader``, what ``captcha-lab train`` runs), ``backend`` (TensorFlow
started quietly and the same way everywhere).

Chapter 4, whole captchas: ``solver`` (cut, classify every letter, join),
``evaluation`` (accuracies, where errors come from), ``reader`` (the one
interface every trained model has: a batch of captchas in, texts with a
confidence per character out), ``calibration`` (how far to trust an answer:
its confidence as the chance it is right, measured), ``baselines`` (the free
reader a user tries first, scored beside ours), ``readers`` (a reader kept in one file and
loaded back), ``portable`` (an exported ONNX reader, read without
TensorFlow), ``onnx_export`` (exporting a network to ONNX, checked).

Chapter 5, reading without cutting: ``ctc_reading`` (what goes into a CTC
reader and what comes out, without Keras) and ``ctc`` (the CNN + RNN network,
its CTC loss, its training recipe).

Chapter 6, few labels: ``variety`` (an endless stream of drawn captchas in
many styles), ``transfer`` (pretraining on it, fine-tuning on a site's
labels), ``pretrained`` (the start ``captcha-lab train`` fine-tunes, kept in
the user's cache), ``selftraining`` (unlabelled captchas as pseudo-labels), ``picking`` (the
unlabelled captchas most worth labelling), ``labelling`` (typing their
answers, in a widget),
``lookalikes`` (the look-alike "site" the chapter learns), ``benchmark``
(experiments that train and score readers: the benchmark, learning curves).

Around the chapters: ``cli`` (the ``captcha-lab`` command), ``runs`` (running
the series headless and the results each notebook reports), ``course`` (the
table of contents and re-executing the notebooks).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("learning-captchas")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
