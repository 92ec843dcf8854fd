# Weights & Biases logging, apart from training and the tables: W&B settings (wandb_mode,
# wandb_project) are params of these jobs only, so changing them reruns nothing else.


rule log_seed_run:
    input:
        unpack(logged_run),
    output:
        "results/runs/{experiment}/seed-{seed}/{result}.wandb.json",
    log:
        "results/logs/wandb/{experiment}/seed-{seed}/{result}.log",
    wildcard_constraints:
        result=r"metrics|loso|fold-\d+/metrics",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    params:
        experiment=seed_params,
        mode=config["wandb_mode"],
    script:
        "../scripts/log_seed_run.py"


rule log_averaged_run:
    input:
        "results/tables/{experiment}.csv",
    output:
        "results/tables/{experiment}.wandb.json",
    log:
        "results/logs/wandb/{experiment}/averaged.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    params:
        experiment=wandb_params,
        mode=config["wandb_mode"],
    script:
        "../scripts/log_averaged_run.py"
