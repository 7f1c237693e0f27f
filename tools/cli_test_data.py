"""The tiny synthetic data set of the CLI tests (check_cli.sh, check_npy_cli.sh):
28 x 28 images in 10 classes, class c lighting rows 2c+4 .. 2c+6 over noise."""


def images(rng, n):
    """n labels (sample i has class i % 10) and their n x 784 pixels, as bytes, drawn from
    the random.Random rng (the same seed gives the same images in every script)."""
    labels = [i % 10 for i in range(n)]
    px = bytearray()
    for c in labels:
        img = [rng.randrange(0, 40) for _ in range(784)]
        for r in range(2 * c + 4, 2 * c + 7):
            for col in range(4, 24):
                img[r * 28 + col] = 200 + rng.randrange(0, 55)
        px += bytes(img)
    return labels, bytes(px)
