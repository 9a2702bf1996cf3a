"""Brazilian Portuguese texts."""

TEXTS: dict[str, str] = {
    "apology": (
        "Desculpe, tivemos um problema ao processar sua mensagem. "
        "A loja já foi avisada. Tente de novo em alguns minutos ou envie *menu*."
    ),
    "order_status.accepted": "Seu pedido #{number} foi aceito pela loja. 👍",
    "order_status.preparing": "Seu pedido #{number} está sendo preparado. 👩‍🍳",
    "order_status.ready": "Seu pedido #{number} está pronto.",
    "order_status.ready_pickup": "Seu pedido #{number} está pronto para retirada. 🛍️",
    "order_status.out_for_delivery": "Seu pedido #{number} saiu para entrega. 🛵",
    "order_status.delivered": "Seu pedido #{number} foi entregue. Bom apetite!",
    "order_status.picked_up": "Pedido #{number} retirado. Obrigado!",
    "order_status.cancelled": "Seu pedido #{number} foi cancelado. Motivo: {reason}",
}
