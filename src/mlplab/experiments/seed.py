"""The seed's claims (the student's answer sheet, ``/work/shared/seed``), one per question, in English
with the French original's key phrase. The report sets each beside the measurement and a verdict."""

from __future__ import annotations

CLAIMS: dict[str, tuple[str, str]] = {
    "Q1": ("Train fits the weights; validation, checked after each iteration, detects overfitting and tunes "
           "hyper-parameters; test, independent of both, estimates performance on unseen data.",
           "« L'ensemble de validation est essentiel pour éviter que le modèle ne s'ajuste trop bien aux "
           "données d'apprentissage »"),
    "Q2": ("More examples let the model generalise better; a small N risks overfitting; a large N makes "
           "training more expensive.",
           "« Un petit nombre de données peut entraîner un risque de surapprentissage »"),
    "Q3": ("Without non-linear activations the network can only learn linear relations between inputs and "
           "outputs.",
           "« le réseau serait limité à apprendre des relations linéaires simples »"),
    "Q4": ("n_x is the input dimension, n_y the number of classes, n_h is chosen by experimentation: there "
           "is no single rule.",
           "« Il n'y a pas de règle unique pour déterminer ces dimensions »"),
    "Q5": ("ŷ is the model's prediction after the forward pass, y the true label it should approach.",
           "« ŷ est la sortie prédite par le modèle … y est l'étiquette réelle »"),
    "Q6": ("SoftMax turns the outputs into a probability distribution over the classes.",
           "« transformer les sorties du réseau en une distribution de probabilité sur les classes »"),
    "Q7": ("h̃ = W_h x + b_h, h = ReLU(h̃) (an activation), ỹ = W_y h + b_y, ŷ = SoftMax(ỹ).",
           "« h̃ = W_h * x + b_h … ŷ = SoftMax(ỹ) »"),
    "Q8": ("For both losses the predictions ŷ_i must move toward the targets y_i (toward 1 for the true "
           "class, 0 for the others).",
           "« les valeurs prédites ŷ_i doivent se rapprocher autant que possible des étiquettes réelles y »"),
    "Q9": ("Cross-entropy suits classification because it penalises wrong predictions strongly; squared "
           "error suits regression because it measures the squared gap to numeric targets.",
           "« elle pénalise fortement les prédictions incorrectes »"),
    "Q10": ("Full-batch gradient descent converges to the global minimum and is stable but slow; online SGD "
            "converges even faster but noisily; mini-batch combines both and is the reasonable default.",
            "« Converge vers un minimum global du coût »"),
    "Q11": ("Too high a learning rate makes training diverge; too low a rate converges slowly or into a local "
            "minimum; the choice is empirical.",
            "« Un taux d'apprentissage trop élevé peut entraîner une divergence du modèle »"),
    "Q12": ("The naive approach computes each parameter's gradient separately and is costly; backprop reuses "
            "derivatives and considerably reduces the complexity (no growth rate given).",
            "« l'algorithme de backpropagation profite de la réutilisation des dérivées »"),
    "Q13": ("Transformations and their derivatives must be continuous, activations differentiable, and the "
            "network free of cycles.",
            "« Les fonctions d'activation doivent être différentiables, et les réseaux ne doivent pas contenir "
            "de boucles »"),
    "Q14": ("l = −Σ y_i log ŷ_i simplifies to −Σ y_i ỹ_i + log Σ e^{ỹ_i} because Σ y_i = 1.",
            "« l = −Σ y_i ỹ_i + log(Σ e^{ỹ_j}) (Σ y_i = 1) »"),
    "Q15": ("∂l/∂ỹ_i = ŷ_i − y_i.", "« ∂L/∂ỹ_i = −y_i + ŷ_i »"),
}

QUESTIONS = [f"Q{i}" for i in range(1, 16)]


def claim(question: str) -> str:
    """The seed's claim for a question, English then the French key phrase."""
    english, french = CLAIMS[question]
    return f"{english} {french}"
