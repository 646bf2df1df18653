"""Pretrained networks (written here, weights from registry packages) and the installer that fetches them."""
