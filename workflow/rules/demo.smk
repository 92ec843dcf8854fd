checkpoint demo_corpus:
    output:
        directory("results/demo/{corpus}"),
    log:
        "results/logs/demo/{corpus}.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        seed=config["demo"]["seed"],
        utterances=config["demo"]["utterances"],
        expression=config["demo"]["expression"],
        ambiguity=config["demo"]["ambiguity"],
    shell:
        "xcorpus demo {wildcards.corpus:q} {output:q} --seed {params.seed:q}"
        " --utterances {params.utterances:q} --expression {params.expression:q}"
        " --ambiguity {params.ambiguity:q} > {log:q} 2>&1"
