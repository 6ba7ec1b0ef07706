"""The referrals service: resource directory, consent-checked referrals and partner access."""
