"""Brazilian Portuguese texts."""

TEXTS: dict[str, str] = {
    "apology": (
        "Desculpe, tivemos um problema ao processar sua mensagem. "
        "A loja já foi avisada. Tente de novo em alguns minutos ou envie *menu*."
    ),
    "order_status.accepted": "Seu pedido #{number} foi aceito pela loja. 👍",
    "order_status.preparing": "Seu pedido #{number} está sendo preparado. 👩‍🍳",
    "order_status.ready": "Seu pedido #{number} está pronto e logo sai para entrega. 🛵",
    "order_status.ready_pickup": "Seu pedido #{number} está pronto para retirada. 🛍️",
    "order_status.out_for_delivery": "Seu pedido #{number} saiu para entrega. 🛵",
    "order_status.delivered": "Seu pedido #{number} foi entregue. Bom apetite!",
    "order_status.picked_up": "Pedido #{number} retirado. Obrigado!",
    "order_status.cancelled": "Seu pedido #{number} foi cancelado. Motivo: {reason}",
    "order_status.delivery_failed": (
        "Não conseguimos entregar seu pedido #{number}. A loja vai falar com você em breve."
    ),
    "order_update.courier_assigned": (
        "{courier_name} vai entregar seu pedido #{number}. 🛵 "
        "Na entrega, informe o código *{handover_code}*."
    ),
    "order_update.running_late": (
        "Seu pedido #{number} está levando mais tempo que o previsto. Desculpe a demora!"
    ),
    "status_label.placed": "recebido",
    "status_label.accepted": "aceito",
    "status_label.preparing": "em preparo",
    "status_label.ready": "pronto",
    "status_label.out_for_delivery": "saiu para entrega",
    "status_label.delivered": "entregue",
    "status_label.delivery_failed": "entrega não realizada",
    "status_label.picked_up": "retirado",
    "status_label.cancelled": "cancelado",
    "conv.list_footer": "Toque numa opção ou digite a posição dela: 1, 2, 3…",
    "conv.button_choose": "Escolher",
    "conv.page_next": "Mais itens ›",
    "conv.page_prev": "‹ Voltar",
    "conv.page_info": "Página {number} de {count}.",
    "conv.back_to_categories": "‹ Categorias",
    "conv.welcome": "Olá! 👋 Bem-vindo(a) à *{store}*.",
    "conv.welcome_named": "Olá, {name}! 👋 Bem-vindo(a) à *{store}*.",
    "conv.choose_category": "Escolha uma categoria para ver o cardápio.",
    "conv.menu_button": "Ver cardápio",
    "conv.menu_empty": "O cardápio de *{store}* está vazio no momento. Tente de novo mais tarde.",
    "conv.store_closed": ("*{store}* está fechada agora. 😴 Tente de novo quando a loja abrir."),
    "conv.store_closed_until": "*{store}* está fechada agora. 😴 Abrimos de novo {when}.",
    "conv.opens_today": "hoje às {time}",
    "conv.opens_tomorrow": "amanhã às {time}",
    "conv.opens_weekday": "{weekday} às {time}",
    "conv.opens_date": "{weekday}, {day:02d}/{month:02d}, às {time}",
    "weekday.0": "segunda",
    "weekday.1": "terça",
    "weekday.2": "quarta",
    "weekday.3": "quinta",
    "weekday.4": "sexta",
    "weekday.5": "sábado",
    "weekday.6": "domingo",
    "conv.expired": "Seu carrinho anterior expirou por inatividade, então começamos de novo.",
    "conv.category_question": "*{category}*: escolha um item.",
    "conv.items_button": "Ver itens",
    "conv.category_missing": "Essa categoria não tem itens disponíveis agora.",
    "conv.item_missing": "Esse item não está mais no cardápio.",
    "conv.item_unavailable": "*{item}* está indisponível no momento. Escolha outro item.",
    "conv.option_pick_one": "*{item}* — {group}: escolha uma opção.",
    "conv.option_pick_optional": "*{item}* — {group}: escolha uma opção, se quiser.",
    "conv.option_pick_up_to": "*{item}* — {group}: escolha até {max} opções, uma por vez.",
    "conv.option_pick_exactly": "*{item}* — {group}: escolha {max} opções, uma por vez.",
    "conv.option_pick_range": "*{item}* — {group}: escolha de {min} a {max} opções, uma por vez.",
    "conv.option_picked": "Já escolhidas ({count}): {names}.",
    "conv.option_picked_more": "{names} e mais {count}",
    "conv.option_button": "Ver opções",
    "conv.option_done": "Pronto ✓",
    "conv.option_skip": "Pular",
    "conv.option_free": "sem custo",
    "conv.option_price": "+ {price}",
    "conv.option_need_more": "Escolha pelo menos {min} em {group}.",
    "conv.option_unavailable": "Essa opção não está disponível. Escolha outra.",
    "conv.quantity_question": (
        "Quantas unidades de *{item}*? Toque em um botão ou digite um número de 1 a {max}."
    ),
    "conv.quantity_details": "{item} — {price} cada",
    "conv.quantity_invalid": "Quantidade inválida. Envie um número de 1 a {max}.",
    "conv.quantity_limit": "O carrinho aceita no máximo {max} unidades do mesmo item.",
    "conv.cart_full": (
        "Seu carrinho chegou ao limite de {max} itens diferentes. "
        "Finalize o pedido ou remova algum item."
    ),
    "conv.added": "✅ Adicionado: {line}\nSubtotal do carrinho: {subtotal}",
    "conv.added_question": "O que deseja fazer agora?",
    "conv.button_cart": "Ver carrinho",
    "conv.button_more": "Adicionar mais",
    "conv.button_checkout": "Finalizar",
    "conv.button_remove": "Remover item",
    "conv.cart_title": "🛒 *Seu carrinho*",
    "conv.cart_subtotal": "Subtotal: {amount}",
    "conv.cart_unavailable": "indisponível",
    "conv.cart_question": "Finalize o pedido, adicione mais itens ou remova algum.",
    "conv.cart_empty": "Seu carrinho está vazio. 🛒",
    "conv.cart_dropped": "Alguns itens saíram do cardápio e foram retirados do carrinho.",
    "conv.remove_question": "Qual item deseja remover?",
    "conv.remove_button": "Remover",
    "conv.remove_all": "Esvaziar carrinho",
    "conv.removed": "Removido: {line}",
    "conv.emptied": "Pronto, seu carrinho foi esvaziado.",
    "conv.cancelled": "Ok, cancelei o que estava em andamento.",
    "conv.cancelled_cart_kept": (
        "Ok, cancelei o que estava em andamento. Seu carrinho foi mantido "
        "({items}); envie *esvaziar* para limpá-lo."
    ),
    "conv.item_count_one": "1 item",
    "conv.item_count_many": "{count} itens",
    "conv.help": (
        "Para pedir, toque numa opção das listas e dos botões ou digite a posição dela "
        "(1 para a primeira, 2 para a segunda…). "
        "Palavras que funcionam a qualquer momento: *menu*, *carrinho*, *finalizar*, "
        "*cancelar*, *esvaziar* e *ajuda*."
    ),
    "conv.not_understood": "Não entendi. 🤔 Escolha uma das opções abaixo ou envie *ajuda*.",
    "conv.number_out_of_range": "Não há opção {number}. Escolha um número de 1 a {count}.",
    "conv.unsupported": (
        "Desculpe, entendo apenas mensagens de texto, escolhas de listas e botões "
        "e localizações 📍. Envie *menu* para ver o cardápio."
    ),
    "conv.location_saved": (
        "📍 Localização recebida. Vou oferecê-la como endereço quando você finalizar o pedido."
    ),
    "conv.checkout_empty": (
        "Seu carrinho está vazio, então ainda não há pedido para finalizar. "
        "Escolha itens no cardápio."
    ),
    "conv.checkout_unavailable": (
        "Estes itens estão indisponíveis agora: {names}. Remova-os para continuar."
    ),
    "conv.below_minimum": (
        "O pedido mínimo é {minimum}. Seu subtotal é {subtotal}: faltam {missing}. "
        "Adicione mais itens para finalizar."
    ),
    "conv.fulfilment_question": "Como você quer receber o pedido? A entrega custa {fee}.",
    "conv.fulfilment_question_free": "Como você quer receber o pedido? A entrega é grátis.",
    "conv.button_delivery": "Entrega",
    "conv.button_pickup": "Retirar na loja",
    "conv.address_question": (
        "Envie sua localização 📍 pelo botão abaixo ou digite o endereço completo "
        "(rua, número e bairro)."
    ),
    "conv.address_saved_question": (
        "Entregar no último endereço usado?\n📍 {address}\n"
        "Toque no botão, envie outra localização ou digite outro endereço."
    ),
    "conv.button_use_address": "Usar este endereço",
    "conv.address_invalid": (
        "Não consegui usar esse endereço. Digite rua, número e bairro, ou envie sua localização 📍."
    ),
    "conv.address_pin": "localização enviada ({latitude}, {longitude})",
    "conv.delivery_to": "📍 Entrega em: {address}",
    "conv.payment_question": "Como você vai pagar? Total: {total}.",
    "conv.button_cash": "Dinheiro",
    "conv.button_card_delivery": "Cartão na entrega",
    "conv.button_card_pickup": "Cartão na retirada",
    "conv.button_pix": "PIX",
    "conv.change_question": (
        "Total: {total}. Precisa de troco? Digite para quanto (por exemplo {example}) "
        "ou toque em *Sem troco*."
    ),
    "conv.change_amount_question": (
        "Para quanto você precisa de troco? Digite o valor, por exemplo {example}."
    ),
    "conv.button_no_change": "Sem troco",
    "conv.change_too_low": (
        "{amount} é menos que o total de {total}. Digite um valor igual ou maior, "
        "ou toque em *Sem troco*."
    ),
    "conv.change_too_high": (
        "O troco pode ser para no máximo {limit} neste pedido. Digite um valor até {limit} "
        "ou toque em *Sem troco*."
    ),
    "conv.change_invalid": (
        "Não entendi o valor. Digite só o número, por exemplo {example} ou {example},00, "
        "ou toque em *Sem troco*."
    ),
    "conv.summary_title": "🧾 *Resumo do pedido*",
    "conv.summary_subtotal": "Subtotal: {amount}",
    "conv.summary_fee": "Taxa de entrega: {amount}",
    "conv.summary_total": "*Total: {amount}*",
    "conv.summary_pickup": "🛍️ Retirada na loja",
    "conv.summary_payment": "💳 Pagamento: {method}",
    "conv.summary_change": "💵 Pagamento: dinheiro, troco para {amount}",
    "conv.confirm_question": "Confirma o pedido?",
    "conv.prices_changed": (
        "Os preços mudaram desde o resumo, então o pedido ainda não foi feito. "
        "Confira o novo resumo e confirme de novo."
    ),
    "conv.button_confirm": "Confirmar",
    "conv.button_cancel": "Cancelar",
    "conv.order_placed": (
        "✅ Pedido *#{number}* recebido! Total: {total}.\n"
        "Avisaremos por aqui quando a loja aceitar. Para fazer um novo pedido, envie *menu*."
    ),
    "conv.order_tracking": "📍 Acompanhe seu pedido: {url}",
    "conv.pix_code_next": (
        "💠 Pague {total} com PIX copia e cola: copie o código da próxima mensagem "
        "e cole no app do seu banco."
    ),
    "conv.placement_closed": (
        "A loja fechou antes de confirmarmos o pedido, então ele não foi feito. "
        "Seu carrinho foi mantido: envie *finalizar* quando a loja abrir."
    ),
    "conv.placement_unavailable": (
        "Um item do carrinho ficou indisponível, então o pedido não foi feito. "
        "Remova o item indisponível e finalize de novo."
    ),
    "conv.placement_changed": (
        "O cardápio mudou, então o pedido não foi feito. Confira o carrinho e finalize de novo."
    ),
    "order_update.fee_confirmed": (
        "A taxa de entrega do seu pedido #{number} foi confirmada: {fee}. Novo total: {total}."
    ),
    "conv.fulfilment_question_zones": (
        "Como você quer receber o pedido? A taxa de entrega depende do seu endereço."
    ),
    "conv.zone_terms": "🛵 Entregamos aí: taxa de entrega {fee}, em cerca de {minutes} min.",
    "conv.outside_area": (
        "😕 Esse endereço fica fora da nossa área de entrega. Envie outra localização 📍 "
        "pelo botão abaixo ou digite *retirada* para retirar na loja."
    ),
    "conv.outside_area_saved": (
        "😕 Essa localização fica fora da nossa área de entrega, então não a guardei. "
        "Na hora de finalizar, envie outra localização ou escolha retirar na loja."
    ),
    "conv.address_pin_required": (
        "A taxa de entrega depende da sua localização. Envie sua localização 📍 pelo botão "
        "abaixo ou digite *retirada* para retirar na loja."
    ),
    "conv.fee_to_confirm": (
        "A loja vai confirmar a taxa de entrega para esse endereço. Até lá, o valor mostrado "
        "é provisório."
    ),
    "conv.below_zone_minimum": (
        "O pedido mínimo para entrega em {zone} é {minimum}. Seu subtotal é {subtotal}: "
        "faltam {missing}. Adicione mais itens ou escolha retirar na loja."
    ),
    "conv.summary_fee_pending": "Taxa de entrega: {amount} (provisória, a loja vai confirmar)",
    "conv.summary_zone": "Região de entrega: {zone} (pedido mínimo {minimum})",
    "conv.summary_estimate": "🕒 Entrega estimada: cerca de {minutes} min",
    "conv.placement_closed_until": (
        "A loja fechou antes da confirmação, então o pedido não foi feito. "
        "Abrimos de novo {when}. Seu carrinho foi guardado: envie *finalizar* quando abrirmos."
    ),
}
