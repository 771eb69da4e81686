# Shell integration marks (OSC 133, "semantic prompts") so that the course's
# terminal knows where a prompt is and when a command has finished:
#   ESC ] 133 ; A BEL   a prompt starts
#   ESC ] 133 ; B BEL   the prompt ends: the shell waits for a command line
#   ESC ] 133 ; C BEL   the command line was accepted and runs
#   ESC ] 133 ; D ; N BEL   it finished with exit status N
# Sourced from /etc/bash.bashrc, which every interactive bash reads — root
# shells started with `sudo unshare … /bin/bash` included.

# Only once per shell (the variable is not exported, so nested shells set up their own).
[ -n "${__course_marks:-}" ] && return
__course_marks=1
__course_command_ran=

__course_prompt() {
  local status=$?
  # D only after a C: an empty line or Ctrl-C at the prompt ran nothing.
  if [ -n "$__course_command_ran" ]; then
    printf '\033]133;D;%s\007' "$status"
    __course_command_ran=
  fi
  # ~/.bashrc sets PS1 after us, and users may change it: wrap whatever it is now.
  case $PS1 in
    *'133;A'*) ;;
    *) PS1='\[\033]133;A\007\]'"$PS1"'\[\033]133;B\007\]' ;;
  esac
  return "$status"
}
PROMPT_COMMAND="__course_prompt${PROMPT_COMMAND:+; $PROMPT_COMMAND}"

# PS0 is printed after a command line is read, before it runs. Its expansion
# happens in the shell itself, so the arithmetic below really sets the flag
# (and expands to a zero-length substring: nothing is printed but the mark).
PS0='\033]133;C\007${__course_command_ran:0:$((__course_command_ran=1, 0))}'
