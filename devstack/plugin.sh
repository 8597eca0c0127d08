#!/bin/bash
#
# DevStack plugin of vmguard: install, configure, db sync, start
# vmguard-engine and vmguard-api on the controller and vmguard-agent
# where nova-compute (n-cpu) runs.

# Save trace setting
_XTRACE_VMGUARD=$(set +o | grep xtrace)
set -o xtrace

function install_vmguard {
    setup_develop "$VMGUARD_DIR"
}

function create_vmguard_accounts {
    if ! is_service_enabled vmguard-api; then
        return
    fi
    create_service_user "vmguard" "admin"
    get_or_create_service "vmguard" "$VMGUARD_SERVICE_TYPE" \
        "Instance high availability"
    get_or_create_endpoint "$VMGUARD_SERVICE_TYPE" "$REGION_NAME" \
        "$VMGUARD_SERVICE_PROTOCOL://$VMGUARD_SERVICE_HOST:$VMGUARD_SERVICE_PORT"
    # The read-only role of the vmguard policy.
    get_or_create_role "reader"
}

function configure_vmguard {
    sudo install -d -o "$STACK_USER" "$VMGUARD_CONF_DIR" \
        "$VMGUARD_STATE_PATH"
    rm -f "$VMGUARD_CONF"

    iniset "$VMGUARD_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$VMGUARD_CONF" DEFAULT state_path "$VMGUARD_STATE_PATH"
    iniset "$VMGUARD_CONF" DEFAULT transport_url "$(get_transport_url)"
    iniset "$VMGUARD_CONF" database connection \
        "$(database_connection_url vmguard)"

    iniset "$VMGUARD_CONF" api host_ip "$VMGUARD_SERVICE_HOST"
    iniset "$VMGUARD_CONF" api port "$VMGUARD_SERVICE_PORT"
    iniset "$VMGUARD_CONF" api auth_strategy keystone
    configure_keystone_authtoken_middleware "$VMGUARD_CONF" vmguard

    iniset "$VMGUARD_CONF" recovery compute_driver "$VMGUARD_COMPUTE_DRIVER"
    iniset "$VMGUARD_CONF" recovery dry_run "$VMGUARD_DRY_RUN"
    configure_keystoneauth "$VMGUARD_CONF" nova

    iniset "$VMGUARD_CONF" agent collectors "$VMGUARD_COLLECTORS"
    iniset "$VMGUARD_CONF" agent libvirt_uri "qemu:///system"
    if [[ -n "$VMGUARD_COORDINATION_URL" ]]; then
        iniset "$VMGUARD_CONF" coordination backend_url \
            "$VMGUARD_COORDINATION_URL"
    fi
}

function configure_keystoneauth {
    # vmguard acts on Nova as its own service user.
    local conf_file=$1
    local section=$2
    iniset "$conf_file" "$section" auth_type password
    iniset "$conf_file" "$section" auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$conf_file" "$section" username vmguard
    iniset "$conf_file" "$section" password "$SERVICE_PASSWORD"
    iniset "$conf_file" "$section" user_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$conf_file" "$section" project_name "$SERVICE_PROJECT_NAME"
    iniset "$conf_file" "$section" project_domain_name \
        "$SERVICE_DOMAIN_NAME"
    iniset "$conf_file" "$section" region_name "$REGION_NAME"
}

function init_vmguard {
    if is_service_enabled vmguard-engine vmguard-api; then
        recreate_database vmguard
        "$VMGUARD_BIN_DIR/vmguard-manage" --config-file "$VMGUARD_CONF" \
            db sync
    fi
}

function start_vmguard {
    local bin_dir=$VMGUARD_BIN_DIR
    if is_service_enabled vmguard-engine; then
        run_process vmguard-engine \
            "$bin_dir/vmguard-engine --config-file $VMGUARD_CONF"
    fi
    if is_service_enabled vmguard-api; then
        run_process vmguard-api \
            "$bin_dir/vmguard-api --config-file $VMGUARD_CONF"
        local url="$VMGUARD_SERVICE_PROTOCOL://$VMGUARD_SERVICE_HOST"
        url+=":$VMGUARD_SERVICE_PORT/"
        if ! wait_for_service "$SERVICE_TIMEOUT" "$url"; then
            die $LINENO "vmguard-api did not start"
        fi
    fi
    if is_service_enabled vmguard-agent; then
        # The agent reads libvirt and hardware state: it runs as root.
        run_process vmguard-agent \
            "$bin_dir/vmguard-agent --config-file $VMGUARD_CONF" root root
    fi
}

function stop_vmguard {
    local service
    for service in vmguard-agent vmguard-api vmguard-engine; do
        if is_service_enabled "$service"; then
            stop_process "$service"
        fi
    done
}

function cleanup_vmguard {
    sudo rm -rf "$VMGUARD_STATE_PATH" "$VMGUARD_CONF_DIR"
}

VMGUARD_BIN_DIR=$(get_python_exec_prefix)

if is_service_enabled vmguard-engine vmguard-api vmguard-agent; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing vmguard"
        install_vmguard
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring vmguard"
        configure_vmguard
        if is_service_enabled keystone; then
            create_vmguard_accounts
        fi
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Initializing and starting vmguard"
        init_vmguard
        start_vmguard
    fi

    if [[ "$1" == "unstack" ]]; then
        stop_vmguard
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_vmguard
    fi
fi

# Restore xtrace
$_XTRACE_VMGUARD
