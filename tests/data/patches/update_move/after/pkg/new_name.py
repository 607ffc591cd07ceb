import os
import sys
import new_dep

print(sys.argv)
