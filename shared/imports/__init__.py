"""Importing a library: the exports of the services people leave, in one task.

Pocket, browsers, Instapaper, Raindrop.io, Readwise Reader, Omnivore, Karakeep,
Linkwarden, OPML subscription lists and URL lists. ``Importer(tasks).run(file)``
(:mod:`shared.imports.create`) recognises the format by content
(:mod:`shared.imports.detect`), reads the file as a stream of records (one module per
format in :mod:`shared.imports.formats`), creates or merges links in batches, puts the
new work in one task and answers the fidelity report (:mod:`shared.imports.report`).
The metadata kept on links is :mod:`shared.imports.library`.

Nothing is imported here, so that :mod:`shared.views` can use the library module
without importing the task service it is itself imported by.
"""
