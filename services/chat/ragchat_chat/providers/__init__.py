"""Answer providers behind one interface (:mod:`.base`), chosen by ``CHAT_PROVIDER``."""
