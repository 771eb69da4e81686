# UTF-8 everywhere: a French course types accented letters.
export LANG=C.UTF-8
