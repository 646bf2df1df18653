"""Scanning folders and importing photos: discovery, hashing, the staged import job."""
