"""Request and response models. The package's name hides the standard library's `dataclasses`
whenever `src/` itself is on sys.path: the app is imported from its root, as `src.…`."""
