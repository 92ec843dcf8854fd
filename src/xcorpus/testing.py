"""Tiny random models for tests and benchmarks, so neither needs a download or the network.

Not used by the workflow: a real run loads its models from local directories or the hub.
"""

from pathlib import Path

from xcorpus.features.emotion2vec_funasr import quiet


def random_model_config(
    width: int, heads: int, depth: int, prenet_depth: int, conv_channels: int
) -> dict:
    """A complete emotion2vec `config.yaml` (FunASR reads every key) for the given sizes.

    The base models are width 768, 12 heads, prenet 4 + depth 8, 512 conv channels. Masking,
    dropout and decoder settings only matter for training.
    """
    c = conv_channels
    spec = f"[({c}, 10, 5)] + [({c}, 3, 2)] * 4 + [({c}, 2, 2)] * 2"
    decoder = {
        "decoder_dim": max(16, width // 2),
        "decoder_groups": 16,
        "decoder_kernel": 7,
        "decoder_layers": 4,
        "input_dropout": 0.1,
        "add_positions_masked": False,
        "add_positions_all": False,
        "decoder_residual": True,
        "projection_layers": 1,
        "projection_ratio": 2.0,
    }
    audio = {
        "type": "AUDIO",
        "prenet_depth": prenet_depth,
        "prenet_layerdrop": 0.05,
        "prenet_dropout": 0.1,
        "start_drop_path_rate": 0.0,
        "end_drop_path_rate": 0.0,
        "num_extra_tokens": 10,
        "init_extra_token_zero": False,
        "mask_noise_std": 0.01,
        "mask_prob_min": None,
        "inverse_mask": False,
        "mask_prob": 0.5,
        "mask_prob_adjust": 0.05,
        "keep_masked_pct": 0.0,
        "mask_length": 5,
        "add_masks": False,
        "remove_masks": False,
        "mask_dropout": 0.0,
        "encoder_zero_mask": True,
        "mask_channel_prob": 0.0,
        "mask_channel_length": 64,
        "ema_local_encoder": False,
        "local_grad_mult": 1.0,
        "use_alibi_encoder": True,
        "alibi_scale": 1.0,
        "learned_alibi": False,
        "alibi_max_pos": None,
        "learned_alibi_scale": True,
        "learned_alibi_scale_per_head": True,
        "learned_alibi_scale_per_layer": False,
        "num_alibi_heads": heads,
        "model_depth": depth,
        "decoder": decoder,
        "extractor_mode": "layer_norm",
        "feature_encoder_spec": spec,
        "conv_pos_width": 95,
        "conv_pos_groups": 16,
        "conv_pos_depth": 5,
        "conv_pos_pre_ln": False,
    }
    model_conf = {
        "loss_beta": 0.0,
        "loss_scale": None,
        "depth": depth,
        "start_drop_path_rate": 0.0,
        "end_drop_path_rate": 0.0,
        "num_heads": heads,
        "norm_eps": 1e-05,
        "norm_affine": True,
        "encoder_dropout": 0.1,
        "post_mlp_drop": 0.1,
        "attention_dropout": 0.1,
        "activation_dropout": 0.0,
        "dropout_input": 0.0,
        "layerdrop": 0.05,
        "embed_dim": width,
        "mlp_ratio": 4.0,
        "layer_norm_first": False,
        "average_top_k_layers": depth,
        "end_of_block_targets": False,
        "clone_batch": 8,
        "normalize": True,
        "modalities": {"audio": audio},
    }
    return {"model": "Emotion2vec", "model_conf": model_conf}


def write_random_model(directory: Path, config: dict, seed: int = 0) -> Path:
    """A seeded random-weight emotion2vec (config.yaml + model.pt) for offline tests/benchmarks."""
    import torch
    import yaml

    with quiet():
        from funasr.models.emotion2vec.model import Emotion2vec

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = Emotion2vec(model_conf=config["model_conf"], vocab_size=-1)
    # Random LayerNorm/scale parameters too, so no part of the model is trivially the identity.
    with torch.no_grad():
        for name, param in net.named_parameters():
            if "norm" in name or "extra_tokens" in name:
                param.add_(torch.randn_like(param) * 0.1)
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    torch.save({"model": net.state_dict()}, directory / "model.pt")
    return directory
