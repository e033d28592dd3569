"""`keras.layers.Bidirectional`, safe to build while a `.keras` file loads."""

import contextlib

import keras

from keras_seqimage.backend import compat

_SHARING_KEYS = ("shared_objects/id_to_obj_map", "shared_objects/id_to_config_map")


@contextlib.contextmanager
def no_object_sharing():
    """Suspend Keras' `.keras`-loading object sharing inside the block.

    While a `.keras` file loads, Keras reuses deserialized objects by the
    `id()` of the object they were serialized from. `Bidirectional` copies
    its template layer by serializing it twice; once the template of an
    earlier `Bidirectional` is garbage-collected, a new template can get its
    `id()`, and the copies then resolve to that earlier wrapper's layer: an
    intermittent "Forward layer and backward layer should have different
    `go_backwards` value" while loading (Keras 3.15). Layers built in this
    block copy their templates as they do outside loading.
    """
    global_state = compat.keras_object_sharing()
    if global_state is None:
        yield
        return
    saved = [global_state.get_global_attribute(key) for key in _SHARING_KEYS]
    for key in _SHARING_KEYS:
        global_state.set_global_attribute(key, None)
    try:
        yield
    finally:
        for key, value in zip(_SHARING_KEYS, saved, strict=True):
            global_state.set_global_attribute(key, value)


def make_bidirectional(layer, **kwargs):
    """`keras.layers.Bidirectional(layer, **kwargs)`, built outside sharing."""
    with no_object_sharing():
        return keras.layers.Bidirectional(layer, **kwargs)
