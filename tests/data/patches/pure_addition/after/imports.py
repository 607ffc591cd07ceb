import os
import sys
import json

run()
