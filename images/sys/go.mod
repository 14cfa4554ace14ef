module kiln.local/sys

go 1.22
