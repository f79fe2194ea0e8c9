echo no-shebang $((6*7))
