"""One module per command; :mod:`gradcli.cli` registers them. Shared pieces: :mod:`.common`."""
