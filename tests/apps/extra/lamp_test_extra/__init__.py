"""A package only the test app's own virtual environment holds (copied there by the tests).

lamp's environment lacks it, so importing the test app in lamp's own process fails.
"""

MODEL_NAME = "fraud-detector"
MODEL_VERSION = "1.4.0"
