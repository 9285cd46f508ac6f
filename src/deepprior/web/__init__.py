"""The local web page, ``deepprior serve``: a thin layer over the public API.

``jobs`` runs one restoration in a background thread and reports its progress (no web code);
``page`` lays out the gradio page (the ``ui`` extra) and calls ``jobs``. Nothing below
``deepprior.api`` knows that this package exists.
"""
