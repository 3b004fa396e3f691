"""Image, file and pdf inputs: what the bytes are (:mod:`.sniff`: magic bytes and header dimensions, never
decoding) and how a value becomes a checked content part (:mod:`.load`: project paths confined, https URLs
checked but never fetched, size and pixel limits)."""
