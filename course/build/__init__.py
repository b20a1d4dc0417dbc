"""The translation pipeline: English notebooks are the source, the others are built.

``notebooks/en/*.ipynb`` (and ``README.md``) --extract--> a template --msgmerge-->
``locales/<lang>/LC_MESSAGES/notebooks.po`` --render--> ``notebooks/<lang>/``.

Modules, one job each: :mod:`.blocks` (Markdown into blocks), :mod:`.comments` (a code
cell's comments), :mod:`.language` (the lesson's language line), :mod:`.source` (a
source's messages), :mod:`.extract` (Babel extractors), :mod:`.catalog` (template and
msgmerge), :mod:`.render` (one file in one language), :mod:`.pipeline` (the whole build),
:mod:`.checks` (the gates), ``__main__`` (the command line).  Standard library, Babel,
markdown-it-py and nbformat only: nothing here talks to a broker.
"""
