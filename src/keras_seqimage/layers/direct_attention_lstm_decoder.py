"""The multi-layer LSTM decoder with "direct attention" of Haque et al."""

from collections.abc import Callable

import keras
from keras import ops

from keras_seqimage._validation import (
    check_activation,
    check_finite_non_negative,
    check_positive_int,
    check_rank,
    is_integer,
)


@keras.saving.register_keras_serializable(package="keras_seqimage")
class DirectAttentionLSTMDecoder(keras.layers.Layer):
    """Restores a row sequence from a thought vector and the corrupted rows.

    The decoder of Haque et al.'s CNN-LSTM encoder-decoder: a stack of
    `num_layers` LSTM layers run over the image rows, top to bottom. At row
    step `t` the bottom layer reads `[x_t, v, y_{t-1}]`: the corrupted row
    `x_t`, the encoder's thought vector `v` and the decoder's own previous
    output row `y_{t-1}` (`y_0 = 0`). Each upper layer reads the hidden state
    of the layer below; all hidden and cell states start at zero. The output
    row is `y_t = output_activation(h_t^top W + b)`. "Direct attention" is the
    paper's name for the decoder reading the raw corrupted row directly at
    every step (so detail the encoder missed is still at hand); it is not
    softmax attention, there are no attention weights.

    The decoder is free-running: `y_{t-1}` is always its own prediction, in
    training as at inference, so it never sees a clean image and output row
    `t` depends only on `v` and on corrupted rows `0..t`.

    Implementation: `keras.layers.RNN` has no `constants=` argument, so `v` is
    repeated onto every input row (the RNN reads `[x_t, v]`), and `y_{t-1}`
    is carried in the state of a stacked cell whose state is
    `[h_1, c_1, ..., h_L, c_L, y_prev]`. The LSTM layers are standard
    `keras.layers.LSTMCell`s: `h_t = o_t * tanh(C_t)` with the output gate
    `o_t`, where the paper's equation 13 writes `h_t = tanh(C_t) * i_t` (a
    likely typo: with `i_t` the output gate of eq. 10 would be unused).

    Args:
        units: int, hidden size of every LSTM layer. The paper does not give
            it; defaults to `128`.
        num_layers: int, number of stacked LSTM layers. Defaults to `5`, as
            in the paper.
        output_activation: str or callable, activation of the output row
            projection; `None` is linear. Defaults to `"sigmoid"` (pixels in
            `[0, 1]`, the paper's decoder). `CNNLSTMDirectAttention` passes
            `None` by default: trained with MSE, the sigmoid version
            collapsed to one output for every input on MNIST.
        dropout: float in `[0, 1)`, dropout rate on the inputs of every LSTM
            layer (one mask per sequence, as in `keras.layers.LSTM`). The
            paper uses `0.25`. Defaults to `0.0`.
        recurrent_dropout: float in `[0, 1)`, dropout rate on the recurrent
            state of every LSTM layer. Defaults to `0.0`.
        kernel_l2: float >= 0, L2 penalty `kernel_l2 * sum(w ** 2)` on every
            kernel and recurrent kernel (not the biases), the paper's eq. 17.
            Defaults to `0.0`.
        seed: optional int, seed of the dropout masks. Defaults to `None`.
        **kwargs: base layer keyword arguments, such as `name` and `dtype`.

    Input shape:
        List of two tensors: `thought_vector` of shape `(batch, D)` and
        `corrupted_rows` of shape `(batch, T, F)`; `D` and `F` known.

    Output shape:
        `(batch, T, F)`: the restored rows.

    Example:

    >>> import numpy as np
    >>> vector = np.random.rand(2, 10).astype("float32")
    >>> rows = np.random.rand(2, 16, 16).astype("float32")
    >>> decoder = DirectAttentionLSTMDecoder(units=8, num_layers=2)
    >>> restored = decoder([vector, rows])
    >>> tuple(restored.shape)
    (2, 16, 16)
    >>> decoder.count_params()  # 4*8*(16+10+16+8+1) + 4*8*(8+8+1) + 8*16+16
    2320

    Reference:
        K. N. Haque, M. A. Yousuf, R. Rana, "Image denoising and restoration
        with CNN-LSTM Encoder Decoder with Direct Attention", 2018.
    """

    def __init__(
        self,
        units: int = 128,
        num_layers: int = 5,
        output_activation: str | Callable | None = "sigmoid",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_l2: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.output_activation = check_activation(
            "output_activation", output_activation
        )
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.kernel_l2 = check_finite_non_negative("kernel_l2", kernel_l2)
        if seed is not None and not is_integer(seed):
            raise ValueError(f"`seed` must be None or an int. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self.thought_size = None
        self.features = None

    def _checked_shapes(self, input_shape):
        """Validate `[thought_vector, corrupted_rows]` shapes; return both."""
        name = self.__class__.__name__
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(
                f"{name} expects `inputs` as a list [thought_vector, "
                f"corrupted_rows]. Received: inputs={input_shape!r}"
            )
        vector_shape, rows_shape = (tuple(s) for s in input_shape)
        check_rank("thought_vector", vector_shape, 2, name)
        check_rank("corrupted_rows", rows_shape, 3, name)
        if vector_shape[-1] is None:
            raise ValueError(
                f"{name} needs a known thought vector size. "
                f"Received: thought_vector.shape={vector_shape}"
            )
        if rows_shape[-1] is None:
            raise ValueError(
                f"{name} needs a known number of features per row. "
                f"Received: corrupted_rows.shape={rows_shape}"
            )
        if (
            vector_shape[0] is not None
            and rows_shape[0] is not None
            and vector_shape[0] != rows_shape[0]
        ):
            raise ValueError(
                f"{name} expects `thought_vector` and `corrupted_rows` with the "
                f"same batch size. Received: thought_vector.shape={vector_shape}, "
                f"corrupted_rows.shape={rows_shape}"
            )
        if self.thought_size is not None and vector_shape[-1] != self.thought_size:
            raise ValueError(
                f"{name} was built for a thought vector of size "
                f"{self.thought_size}. Received: thought_vector.shape={vector_shape}"
            )
        if self.features is not None and rows_shape[-1] != self.features:
            raise ValueError(
                f"{name} was built for rows of {self.features} features. "
                f"Received: corrupted_rows.shape={rows_shape}"
            )
        return vector_shape, rows_shape

    def build(self, input_shape):
        vector_shape, rows_shape = self._checked_shapes(input_shape)
        self.thought_size = vector_shape[-1]
        self.features = rows_shape[-1]
        self.cell = _DirectAttentionCell(
            units=self.units,
            num_layers=self.num_layers,
            features=self.features,
            output_activation=self.output_activation,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            kernel_l2=self.kernel_l2,
            seed=self.seed,
            dtype=self.dtype_policy,
            name="cell",
        )
        step_features = self.features + self.thought_size
        self.cell.build((rows_shape[0], step_features))
        self.rnn = keras.layers.RNN(
            self.cell, return_sequences=True, dtype=self.dtype_policy, name="rnn"
        )
        self.rnn.build((rows_shape[0], rows_shape[1], step_features))

    def call(self, inputs, training=None):
        self._checked_shapes([x.shape for x in inputs])
        vector, rows = inputs
        vector = ops.cast(vector, self.compute_dtype)
        rows = ops.cast(rows, self.compute_dtype)
        # Repeat v onto every row: (batch, T, F + D), broadcast so T may be
        # unknown.
        repeated = ops.expand_dims(vector, 1) + ops.zeros_like(rows[:, :, :1])
        sequence = ops.concatenate([rows, repeated], axis=-1)
        if training:
            # Create the per-sequence dropout masks before the time loop (the
            # loop must be stateless under JAX), as keras.layers.RNN does for
            # its own cells.
            self.cell.prepare_dropout_masks(ops.shape(rows)[0])
        outputs = self.rnn(sequence, training=training)
        self.cell.reset_dropout_masks()
        return outputs

    def compute_output_shape(self, input_shape):
        vector_shape, rows_shape = self._checked_shapes(input_shape)
        batch = rows_shape[0] if rows_shape[0] is not None else vector_shape[0]
        return (batch, rows_shape[1], rows_shape[2])

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "num_layers": self.num_layers,
            "output_activation": self.output_activation,
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "kernel_l2": self.kernel_l2,
            "seed": self.seed,
        }


class _DirectAttentionCell(keras.layers.Layer):
    """One row step: stacked `LSTMCell`s fed `[x_t, v, y_prev]`, then Dense.

    Step input `[x_t, v]` (size F + D); state `[h_1, c_1, ..., h_L, c_L,
    y_prev]`; output `y_t` (size F), which is also the new `y_prev`.
    """

    def __init__(
        self,
        units,
        num_layers,
        features,
        output_activation,
        dropout,
        recurrent_dropout,
        kernel_l2,
        seed,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.features = features
        regularizer = keras.regularizers.L2(kernel_l2) if kernel_l2 > 0 else None
        self.lstm_cells = [
            keras.layers.LSTMCell(
                units,
                dropout=dropout,
                recurrent_dropout=recurrent_dropout,
                kernel_regularizer=regularizer,
                recurrent_regularizer=regularizer,
                seed=None if seed is None else seed + i,
                dtype=self.dtype_policy,
                name=f"lstm_cell_{i}",
            )
            for i in range(num_layers)
        ]
        self.output_dense = keras.layers.Dense(
            features,
            activation=output_activation,
            kernel_regularizer=regularizer,
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self.state_size = [units] * (2 * num_layers) + [features]
        self.output_size = features

    def _input_sizes(self, step_features):
        return [step_features + self.features] + [self.units] * (
            len(self.lstm_cells) - 1
        )

    def build(self, input_shape):
        batch, step_features = input_shape
        for cell, size in zip(
            self.lstm_cells, self._input_sizes(step_features), strict=True
        ):
            cell.build((batch, size))
        self.output_dense.build((batch, self.units))
        self._step_features = step_features

    def prepare_dropout_masks(self, batch_size):
        sizes = self._input_sizes(self._step_features)
        for cell, size in zip(self.lstm_cells, sizes, strict=True):
            if cell.dropout > 0:
                cell.get_dropout_mask(ops.zeros((batch_size, size), self.compute_dtype))
            if cell.recurrent_dropout > 0:
                cell.get_recurrent_dropout_mask(
                    ops.zeros((batch_size, self.units), self.compute_dtype)
                )

    def reset_dropout_masks(self):
        for cell in self.lstm_cells:
            cell.reset_dropout_mask()
            cell.reset_recurrent_dropout_mask()

    def call(self, inputs, states, training=False):
        y_prev = states[-1]
        x = ops.concatenate([inputs, y_prev], axis=-1)
        new_states = []
        for i, cell in enumerate(self.lstm_cells):
            x, (h, c) = cell(x, [states[2 * i], states[2 * i + 1]], training=training)
            new_states += [h, c]
        y = self.output_dense(x)
        return y, [*new_states, y]


def _check_rate(name, value):
    value = check_finite_non_negative(name, value)
    if value >= 1:
        raise ValueError(
            f"`{name}` must be in the range [0, 1). Received: {name}={value!r}"
        )
    return value
