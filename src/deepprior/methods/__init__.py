"""The methods' algorithms: Deep Image Prior (``dip``), Zero-Shot Noise2Noise (``zeroshot``),
Zero-Shot Super-Resolution (``zssr``) and Noise2Noise training (``noise2noise``), on the shared
step loop (``loop``). Which runs what is ``deepprior.registry``'s business."""
