#!/bin/bash
#
# DevStack plugin of vmguard. Controller (vmguard-engine/vmguard-api
# enabled): database, Keystone service user and endpoint, Nova's
# notifications, engine and API. Compute node (vmguard-agent enabled):
# the agent, watching devstack@n-cpu. A compute subnode only writes its
# configuration and starts its agent.

# Save trace setting
_XTRACE_VMGUARD=$(set +o | grep xtrace)
set -o xtrace

function vmguard_is_controller {
    is_service_enabled vmguard-engine vmguard-api
}

function install_vmguard {
    setup_develop "$VMGUARD_DIR"
    if is_service_enabled vmguard-agent; then
        # The libvirt collector's bindings (vmguard[libvirt]); DevStack
        # installed libvirt's headers for Nova.
        pip_install "libvirt-python>=9.0.0"
    fi
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

# Nova must emit versioned notifications with state changes for the
# engine's listener, on the controller and on every compute node.
function configure_nova_for_vmguard {
    local conf
    for conf in "$NOVA_CONF" "${NOVA_CPU_CONF:-}"; do
        if [[ -z "$conf" || ! -e "$conf" ]]; then
            continue
        fi
        iniset "$conf" notifications notification_format both
        iniset "$conf" notifications notify_on_state_change \
            vm_and_task_state
        iniset "$conf" oslo_messaging_notifications driver messagingv2
    done
}

function configure_vmguard {
    sudo install -d -o "$STACK_USER" "$VMGUARD_CONF_DIR" \
        "$VMGUARD_STATE_PATH"
    rm -f "$VMGUARD_CONF"

    iniset "$VMGUARD_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset "$VMGUARD_CONF" DEFAULT state_path "$VMGUARD_STATE_PATH"
    iniset "$VMGUARD_CONF" DEFAULT transport_url "$(get_transport_url)"
    # vmguard's own notifications (decisions, recoveries).
    iniset "$VMGUARD_CONF" oslo_messaging_notifications driver messagingv2
    iniset "$VMGUARD_CONF" oslo_messaging_notifications transport_url \
        "$(get_notification_url)"

    if vmguard_is_controller; then
        iniset "$VMGUARD_CONF" database connection \
            "$(database_connection_url vmguard)"

        iniset "$VMGUARD_CONF" api host_ip "$VMGUARD_SERVICE_HOST"
        if is_service_enabled tls-proxy; then
            # The proxy terminates TLS on the public port and forwards to
            # the API's internal one; links follow X-Forwarded-Proto.
            iniset "$VMGUARD_CONF" api port "$VMGUARD_SERVICE_PORT_INT"
            iniset "$VMGUARD_CONF" oslo_middleware \
                enable_proxy_headers_parsing True
        else
            iniset "$VMGUARD_CONF" api port "$VMGUARD_SERVICE_PORT"
        fi
        iniset "$VMGUARD_CONF" api auth_strategy keystone
        configure_keystone_authtoken_middleware "$VMGUARD_CONF" vmguard

        iniset "$VMGUARD_CONF" recovery compute_driver \
            "$VMGUARD_COMPUTE_DRIVER"
        iniset "$VMGUARD_CONF" recovery dry_run "$VMGUARD_DRY_RUN"
        configure_keystoneauth "$VMGUARD_CONF" nova
        # DevStack registers Nova's public endpoint only.
        iniset "$VMGUARD_CONF" nova valid_interfaces public
        if [[ -n "$VMGUARD_COORDINATION_URL" ]]; then
            iniset "$VMGUARD_CONF" coordination backend_url \
                "$VMGUARD_COORDINATION_URL"
        fi
    fi

    if is_service_enabled vmguard-agent; then
        local services=$VMGUARD_WATCHED_SERVICES
        if is_service_enabled q-agt neutron-agent; then
            services+=",ovs-vswitchd"
        fi
        iniset "$VMGUARD_CONF" agent collectors "$VMGUARD_COLLECTORS"
        iniset "$VMGUARD_CONF" agent libvirt_uri "qemu:///system"
        iniset "$VMGUARD_CONF" agent services "$services"
        iniset "$VMGUARD_CONF" agent restart_command \
            "systemctl restart {service}"
        # The name Nova knows this compute node by.
        iniset "$VMGUARD_CONF" agent node_name "$(hostname)"
    fi

    configure_nova_for_vmguard
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
    # Only the controller owns the database: a compute subnode shares it
    # and must never recreate it.
    if vmguard_is_controller; then
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
        if is_service_enabled tls-proxy; then
            start_tls_proxy vmguard '*' "$VMGUARD_SERVICE_PORT" \
                "$VMGUARD_SERVICE_HOST" "$VMGUARD_SERVICE_PORT_INT"
        fi
        local url="$VMGUARD_SERVICE_PROTOCOL://$VMGUARD_SERVICE_HOST"
        url+=":$VMGUARD_SERVICE_PORT/"
        if ! wait_for_service "$SERVICE_TIMEOUT" "$url"; then
            die $LINENO "vmguard-api did not start"
        fi
    fi
    if is_service_enabled vmguard-agent; then
        # The agent reads libvirt and hardware state and restarts
        # devstack@n-cpu (R7): it runs as root.
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
        # Before DevStack starts Nova: its notification settings count.
        echo_summary "Configuring vmguard"
        configure_vmguard
        if vmguard_is_controller && is_service_enabled keystone; then
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
