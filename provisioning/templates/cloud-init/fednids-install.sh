#!/bin/sh
# /usr/local/sbin/fednids-install - run once by cloud-init (runcmd) on a new fednids node:
# installs the agent (the `edge` extra only: no torch, no TensorFlow) into a venv, puts the
# shipped detector model in the state directory and starts the services.
# Rendered by `fednids provision`; re-running it upgrades the agent in place.
set -eu
VENV=/opt/fednids/venv
PACKAGE='${package}'
STATE=/var/lib/fednids

python3 -m venv "$$VENV"
"$$VENV/bin/pip" install --quiet --upgrade pip
"$$VENV/bin/pip" install --quiet --prefer-binary ${pip_args} "$$PACKAGE"

# the int8 TFLite model shipped in the package, copied where the agent may replace it
install -d -o fednids -g fednids -m 0750 "$$STATE" "$$STATE/model" "$$STATE/models"
SHIPPED=$$("$$VENV/bin/python" -c 'import importlib.util, pathlib; s = importlib.util.find_spec("models"); print(pathlib.Path(s.submodule_search_locations[0], "artifacts", "lstm-ae"))')
cp -r "$$SHIPPED/." "$$STATE/model/"
chown -R fednids:fednids "$$STATE"
# the key files are fednids:fednids 0600 (write_files); the folders are closed to others
chown root:fednids /etc/fednids /etc/fednids/certs /etc/fednids/flower
chmod 0750 /etc/fednids /etc/fednids/certs /etc/fednids/flower

systemctl daemon-reload
systemctl enable --now fednids-agent.service
# starts only where the `edge-train` extra (flwr) is installed (ConditionPathExists)
systemctl enable --now fednids-fl.service
