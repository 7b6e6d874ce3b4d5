"""Matrix factorisation router (RouteLLM's ``mf``), trained with NumPy on pairwise outcomes.

Each tier has a learned vector ``v_t``; a text's embedding ``x`` is projected to the same space
by ``P`` (features × dim); a tier's strength on the text is ``s_t(x) = w · (v_t/|v_t| ⊙ xP)``. Training pairs
are (prompt, tier a, tier b) for every two tiers; the target is 1 when ``a`` scored higher, 0
when ``b`` did and 0.5 on a tie (ties say the cheaper tier will do), and the loss is the
logistic loss of ``s_a − s_b``. The predicted quality of a tier is its win rate against the cheapest fitted
tier, ``σ(s_t − s_cheapest)`` (a tie is 0.5, so the cheapest tier's own is 0.5). With two
tiers the score is the strong tier's win rate (RouteLLM's routing score) minus 0.5.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from persona_lab.core import RouterError
from persona_lab.routers._learned import FloatArray, LearnedRouter
from persona_lab.routers._training_frame import TrainingSet

__all__ = ["MatrixFactorizationRouter"]


def _sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return result


class MatrixFactorizationRouter(LearnedRouter):
    """Route by learned tier vectors and a projection of the text embedding.

    Parameters
    ----------
    dim:
        Size of the shared space.
    epochs, learning_rate, l2:
        Full-batch Adam steps, step size and weight decay.
    random_state:
        Seed of the initial weights (the fit is deterministic).
    embedder:
        ``None``/"tfidf" (fitted on the prompts), "hashing", or any ``texts -> matrix`` callable.
    threshold:
        Cost knob: the stronger of two tiers when its predicted win rate ``>= 0.5 + threshold``.
        Over N tiers it is λ in ``predicted quality − λ × relative cost``; None (default): chosen
        at fit from the training data (the knee, see :class:`LearnedRouter`); ``calibrate`` sets it.
    respect_pin:
        Follow the persona's pinned tier.

    Fitted attributes (besides the base ones): ``projection_`` (P), ``tier_vectors_``,
    ``classifier_`` (w), ``n_pairs_`` (training pairs), ``loss_`` (final loss).
    """

    def __init__(
        self,
        *,
        dim: int = 16,
        epochs: int = 100,
        learning_rate: float = 0.02,
        l2: float = 1e-3,
        random_state: int = 0,
        embedder: object = None,
        threshold: float | None = None,
        respect_pin: bool = True,
    ):
        self.dim = dim
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.l2 = l2
        self.random_state = random_state
        self.embedder = embedder
        self.threshold = threshold
        self.respect_pin = respect_pin

    @property
    def name(self) -> str:
        return "mf"

    def _validate_params(self) -> None:
        super()._validate_params()
        for name in ("dim", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise RouterError(f"MatrixFactorizationRouter: {name} must be a positive int, got {value!r}")

    def _fit_model(self, X: Any, data: TrainingSet) -> None:
        quality = data.quality
        n_tiers = len(data.tiers)
        rows, first_idx, second_idx, targets = [], [], [], []
        for a in range(n_tiers):
            for b in range(a + 1, n_tiers):
                diff = quality[:, a] - quality[:, b]
                rows.append(np.arange(len(quality)))
                first_idx.append(np.full(len(quality), a))
                second_idx.append(np.full(len(quality), b))
                targets.append(np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, 0.5)))
        prompt = np.concatenate(rows)
        first, second, target = np.concatenate(first_idx), np.concatenate(second_idx), np.concatenate(targets)
        rng = np.random.default_rng(self.random_state)
        n_features = X.shape[1]
        params = {
            "P": rng.normal(0.0, 1.0 / np.sqrt(self.dim), (n_features, self.dim)),
            "V": rng.normal(0.0, 1.0, (n_tiers, self.dim)),
            "w": rng.normal(0.0, 1.0 / np.sqrt(self.dim), self.dim),
        }
        moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        loss = float("nan")
        n = len(prompt)
        for step in range(1, self.epochs + 1):
            P, V, w = params["P"], params["V"], params["w"]
            Z = np.asarray(X @ P)  # (prompts, dim)
            norms = np.linalg.norm(V, axis=1, keepdims=True)
            Vn = V / norms
            zp = Z[prompt]
            diff_v = Vn[first] - Vn[second]  # (pairs, dim)
            margin = (zp * diff_v) @ w
            p = _sigmoid(margin)
            clipped = np.clip(p, 1e-12, 1 - 1e-12)
            loss = float(-np.mean(target * np.log(clipped) + (1 - target) * np.log(1 - clipped)))
            g = (p - target) / n  # d loss / d margin
            grad_w = (zp * diff_v).T @ g + self.l2 * w
            g_zp = (g[:, None] * diff_v) * w[None, :]
            g_Z = np.zeros_like(Z)
            np.add.at(g_Z, prompt, g_zp)
            grad_P = np.asarray(X.T @ g_Z) + self.l2 * P
            g_diff = (g[:, None] * zp) * w[None, :]
            g_Vn = np.zeros_like(Vn)
            np.add.at(g_Vn, first, g_diff)
            np.add.at(g_Vn, second, -g_diff)
            # through the row normalisation v/|v|
            grad_V = (g_Vn - Vn * np.sum(g_Vn * Vn, axis=1, keepdims=True)) / norms + self.l2 * V
            for key, grad in (("P", grad_P), ("V", grad_V), ("w", grad_w)):
                m, v = moments[key]
                m[...] = beta1 * m + (1 - beta1) * grad
                v[...] = beta2 * v + (1 - beta2) * grad * grad
                m_hat = m / (1 - beta1**step)
                v_hat = v / (1 - beta2**step)
                params[key] = params[key] - self.learning_rate * m_hat / (np.sqrt(v_hat) + eps)
        self.projection_ = params["P"]
        self.tier_vectors_ = params["V"]
        self.classifier_ = params["w"]
        self.n_pairs_ = n
        self.loss_ = loss

    def _strengths(self, x: Any) -> FloatArray:
        z = np.asarray(x @ self.projection_).ravel() if sp.issparse(x) else np.asarray(x).ravel() @ self.projection_
        vn = self.tier_vectors_ / np.linalg.norm(self.tier_vectors_, axis=1, keepdims=True)
        result: FloatArray = (vn * z[None, :]) @ self.classifier_
        return result

    def _predict_rows(self, X: Any) -> FloatArray:
        out = np.empty((X.shape[0], len(self.tiers_)))
        for i in range(X.shape[0]):
            strengths = self._strengths(X if X.shape[0] == 1 else X[i])  # a lone row needs no slicing
            out[i] = _sigmoid(strengths - strengths[0])
        return out
