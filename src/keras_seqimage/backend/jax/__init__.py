"""The JAX backend's own code: a model kept whole when a loop fails, `jit`.

Keras' JAX `fit`, `evaluate` and `predict` take the model's variables out of
it before their loop (their values travel through the compiled steps as a
state) and put them back only when the loop ends. An error raised inside the
loop (a bad batch refused by a layer, an interrupt) leaves every variable
empty: the next `predict`, `save` or `get_weights` fails, and what the model
had learnt is gone. `variables_kept_on_error` puts them back.
"""

import contextlib

from keras_seqimage.backend import compat


def _loop_variables(model):
    """The variables a JAX loop may take out of `model`."""
    variables = list(model.variables)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables += list(optimizer.variables)
    variables += list(getattr(model, "metrics_variables", []))
    unique = {id(v): v for v in variables}
    return list(unique.values())


@contextlib.contextmanager
def variables_kept_on_error(model):
    """On an error inside the block, give `model` its variables back, then re-raise.

    The newest values the loop reached are synced back first (so the epochs
    trained before the error are kept); any variable still empty gets the
    value it held when the block began.
    """
    variables = _loop_variables(model)
    saved = [compat.variable_tensor(v) for v in variables]
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            model.jax_state_sync()
        for variable, value in zip(variables, saved, strict=True):
            if compat.variable_tensor(variable) is None and value is not None:
                compat.set_variable_tensor(variable, value)
        raise


def values_at_hand(x):
    """Whether `x`'s values can be read now (not a tracer inside `jax.jit`)."""
    import jax

    return not isinstance(x, jax.core.Tracer)


def jit(function):
    """`jax.jit(function)`: eager JAX code run as one compiled function."""
    import jax

    return jax.jit(function)
