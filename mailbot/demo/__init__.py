"""The demo: a whole simulated round on embedded defaults (`mailbot demo`, `mailbot.demo.run`).

Only `mailbot.cli` imports this package; nothing the program runs depends on it.
"""
