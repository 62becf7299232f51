# expect: dryrun: output limit
# sandbox: output_limit: file-size limit
def compute_reward(prev, action, state):
    print("x" * 20_000_000)
    return 1.0, {"alive": 1.0}
